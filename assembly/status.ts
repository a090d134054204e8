// Status codes every exported kernel returns (i32). 0 = ok; per-pixel problems are mask bits, not errors.
export const OK: i32 = 0;
export const BAD_ARGUMENT: i32 = 1;
