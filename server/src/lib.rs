//! The Assent server: configuration, start-up, and the routes that are not the app's own.

pub mod admins;
pub mod assets;
pub mod configuration;
pub mod database;
pub mod health;
pub mod seed;
pub mod startup;
pub mod telemetry;
