// Replaces every function of service.js; new versions say v2.
import { definePatch, withScope } from 'livepatch';

interface Service { gate(name: string): Promise<void>; compute(): string; format(): string }

export default definePatch({
  name: 'fix',
  objects: [{
    module: 'service.js',
    funcs: [
      {
        oldName: 'handle',
        newFunc: withScope<Service>((scope) => async (self: unknown, name: string) => {
          const start = scope.format();
          await scope.gate(name);
          return `new:${start}/${scope.compute()}/${scope.format()}`;
        }),
      },
      { oldName: 'compute', newFunc: () => 'v2' },
      { oldName: 'format', newFunc: () => 'v2' },
      { oldName: 'stream', newFunc: async function* () { yield 'v2'; } },
    ],
  }],
});
