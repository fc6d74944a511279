//! Field-level validation errors, as requests of the protocol report them.

use serde::{Deserialize, Serialize};

/// One invalid field of a request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FieldError {
    /// JSON path of the field, e.g. `environment.FOO`.
    pub field: String,
    /// What is wrong.
    pub message: String,
}
