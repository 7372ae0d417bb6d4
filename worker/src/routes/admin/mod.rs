//! Admin routes (the admin token, checked by the route table before any body is read):
//! registrations ([`platforms`]), the tool's keys ([`keys`]), backup and restore
//! ([`backup`]), reports ([`reports`]).

pub mod backup;
pub mod keys;
pub mod platforms;
pub mod reports;
