// Type declarations of the ES module entry (nest.mjs): the same names as the CommonJS entry,
// and its default export is that entry's module object.
import * as compat from './nest.js';
export * from './nest.js';
export default compat;
