//! Tests of the planner: unit tests of the building blocks, a deterministic in-memory harness
//! (fake store + fake clock) with invariant checks after every step, and the upstream e2e /
//! integration / unit scenarios of ref §8, each named after its upstream counterpart.

#![allow(clippy::needless_range_loop)]

mod behaviour;
mod control;
mod controller;
mod e2e;
mod harness;
mod integration;
mod pod_control;
mod random;
mod units;
