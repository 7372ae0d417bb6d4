//! Storage, each kind behind one module. [`durable`] is the Durable Object itself (a small SQL
//! store and its client); everything else here decides what is stored and calls it, or KV:
//! [`state`] (single-use launch states, 1.1 nonces, parked launches; KV or the object),
//! [`registry`] (platform registrations), [`invitations`] (Dynamic Registration invitations),
//! [`keyring`] (the tool's keys and signers), [`jwks`] (platforms' key sets, cached),
//! [`inspector`] (each registration's recent launch attempts, sealed, for the launch inspector
//! and the user-id suggestions).

pub mod durable;
pub mod inspector;
pub mod invitations;
pub mod jwks;
pub mod keyring;
pub mod registry;
pub mod state;
