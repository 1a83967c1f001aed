//! The rule engine's runtime pieces. IN PROGRESS: transformations and
//! operators are complete; variables, actions and the transaction are not
//! yet written.

pub mod operator;
pub mod transform;
