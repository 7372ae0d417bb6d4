//! Service routes for tool apps (a session token, the services credential, or the admin
//! token): Deep Linking ([`deep_link`]), AGS ([`ags`]), NRPS ([`nrps`]), sharing one caller
//! and token module ([`caller`]).

pub mod ags;
pub mod caliper;
pub mod caller;
pub mod deep_link;
pub mod nrps;
