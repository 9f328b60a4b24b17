/**
 * The main thread's end of the loader channel, for code that imports patch
 * modules through the loader (see `channel.ts`).
 */
import type { MessagePort } from 'node:worker_threads';
import type { MainMessage } from './channel.js';
import type { LoaderConfig } from './config.js';

let port: MessagePort | null = null;
let loaderConfig: LoaderConfig | null = null;

export function setLoaderPort(p: MessagePort, config: LoaderConfig): void {
  port = p;
  loaderConfig = config;
}

/** The loader configuration of this process, or null when it was not started under livepatch. */
export function activeConfig(): LoaderConfig | null {
  return loaderConfig;
}

/** Hands verified patch source to the loader thread; false when the loader hooks are not installed. */
export function sendToLoader(message: MainMessage): boolean {
  if (!port) return false;
  port.postMessage(message);
  return true;
}
