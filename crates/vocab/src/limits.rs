//! The bounds of what the core builds at all, for the core, the CLI and the page alike; larger
//! values are refused with a message (`mtl::models::ModelConfig::validate`). The page's settings
//! table holds each of its fields to tighter bounds of its own, inside these, so that what a
//! learner builds trains at a usable speed in a tab.

/// Hidden layers in one list of layer sizes.
pub const MAX_LAYERS: usize = 6;
/// Units in one hidden layer.
pub const MAX_UNITS: usize = 1024;
/// Experts of one kind (MMoE's pool; CGC/PLE's specific experts per task, or shared ones).
pub const MAX_EXPERTS: usize = 64;
/// PLE's extraction levels.
pub const MAX_LEVELS: usize = 8;
/// Width of each categorical field's embedding.
pub const MAX_EMBEDDING_DIM: usize = 64;
/// Replicas trained side by side in one computation (seeds of one setup, or one p each).
pub const MAX_REPLICAS: usize = 64;
