//! Server templates (Ctrls and Alts).
