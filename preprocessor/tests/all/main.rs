//! Integration tests of the preprocessor, one module per topic.

mod bounds;
mod dialect;
mod fuzz;
mod golden;
mod mapping;
mod shapes;
