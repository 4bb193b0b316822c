//! Integration tests of the preprocessor, one module per topic.

mod fuzz;
mod golden;
mod mapping;
