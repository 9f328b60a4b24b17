// Replaces the async handleHold; its replacement also waits for /release,
// through the module's own `releases` (withScope), so that a task can be
// held inside the new version too (for a stalled unpatching transition).
import { definePatch, withScope } from 'livepatch';

interface Scope {
  releases: (() => void)[];
}

export default definePatch({
  name: 'fix-hold',
  objects: [{
    module: 'src/server.js',
    funcs: [{
      oldName: 'handleHold',
      newFunc: withScope<Scope>((scope) => async (): Promise<string> => {
        await new Promise<void>((resolve) => scope.releases.push(resolve));
        return 'held patched';
      }),
    }],
  }],
});
