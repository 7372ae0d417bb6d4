//! # lti-legacy: the sans-IO LTI 1.1 pieces of LTI Edge
//!
//! (Crate documentation grows with each module.)

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod content_item;
pub mod error;
pub mod migration;
pub mod oauth1;
pub mod outcomes;
pub mod params;
