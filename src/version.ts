/** The package version; part of the transform cache key. A test keeps it equal to package.json's. */
export const VERSION = '0.1.0';
