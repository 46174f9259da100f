// Type declarations of the ES module entry (index.mjs): the same names as the CommonJS entry,
// and its default export is that entry's module object.
import * as compat from './index.js';
export * from './index.js';
export default compat;
