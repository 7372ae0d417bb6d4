//! Admin routes (the admin token, checked by the route table before any body is read):
//! registrations ([`platforms`]), Dynamic Registration invitations ([`invitations`]), the
//! tool's keys ([`keys`]), backup and restore ([`backup`]), reports ([`reports`]).

pub mod backup;
pub mod caliper;
pub mod invitations;
pub mod keys;
pub mod platforms;
pub mod reports;
