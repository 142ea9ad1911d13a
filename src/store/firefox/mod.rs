//! Firefox "LSNG" localStorage (`storage/default/<origin>/ls/data.sqlite`): the encodings
//! Firefox uses for values and for its usage caches (`../shared/browsers-localstorage.md` §1).
//! The backend that reads and writes profiles through them is built on these (issue 12).

pub mod data;
pub mod lsvalue;
pub mod metadata;
pub mod profiles;
