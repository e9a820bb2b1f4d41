// The bytes of JSON's structure, named once for the byte-level readers
// (json-syntax.ts, data-span.ts, request-envelope.ts, span-text.ts,
// json-string-bytes.ts).

export const QUOTE = 0x22; // "
export const COMMA = 0x2c; // ,
export const OPEN_BRACKET = 0x5b; // [
export const BACKSLASH = 0x5c; // \
export const CLOSE_BRACKET = 0x5d; // ]
export const OPEN_BRACE = 0x7b; // {
