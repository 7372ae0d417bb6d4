//! HTTP plumbing shared by every route: [`response`] builds answers, [`body`] reads request
//! bodies as bounded streams, [`outbound`] is the one client for calls to platforms.

pub mod body;
pub mod outbound;
pub mod response;
