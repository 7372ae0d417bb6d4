//! Admin routes (the admin token, checked by the route table before any body is read):
//! registrations ([`platforms`]), Dynamic Registration invitations ([`invitations`]), the
//! tool's keys ([`keys`]), backup and restore ([`backup`]), reports ([`reports`]), the console's
//! sign-in ([`console`]) and the launch inspector ([`inspector`]).

pub mod backup;
pub mod caliper;
pub mod console;
pub mod inspector;
pub mod invitations;
pub mod keys;
pub mod platforms;
pub mod reports;
