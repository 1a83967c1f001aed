//! The rule engine's runtime pieces. IN PROGRESS: the transformations are
//! complete; operators, variables, actions and the transaction are not yet
//! written.

pub mod transform;
