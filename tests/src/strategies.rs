//! Proptest strategies for wire values, one module per codec.

pub mod address;
pub mod command;
pub mod dot;
pub mod ehlo;
pub mod message;
pub mod params;
pub mod reply;
