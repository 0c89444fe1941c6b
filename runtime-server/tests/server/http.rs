//! Integration tests of the http area.

#[allow(unused_imports)]
use super::common::*;
