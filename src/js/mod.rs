//! JavaScript semantics, each written once: the app's data is JavaScript strings and numbers
//! written by `JSON.stringify` and read by `JSON.parse`, and the app's rules are JavaScript
//! expressions. Everything that must behave as the browser does lives here.
//!
//! - `string`: `JsString`, a JavaScript string held losslessly (lone surrogates included).
//! - `number`: number → text exactly as `Number.prototype.toString`, `JSON.stringify` and
//!   `toFixed` write it (shortest round trip through `ryu-js`).
//! - `json`: `JSON.parse` as lenient as the browser's (lone surrogates, raw or escaped).
//! - `value`: `ToNumber`, truthiness, `x || 0` on parsed record fields.

pub mod json;
pub mod number;
mod string;
pub mod value;

pub use string::JsString;
