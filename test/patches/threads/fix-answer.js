import { definePatch } from 'livepatch';

export default definePatch({
  name: 'fix-answer',
  objects: [{ module: 'work.js', funcs: [{ oldName: 'answer', newFunc: () => 'new' }] }],
});
