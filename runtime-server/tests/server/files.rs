//! Integration tests of the files area.

#[allow(unused_imports)]
use super::common::*;
