//! The README shows the two embedding examples; they must be the example files themselves (which
//! the test command builds), so the README cannot drift from code that compiles.

const README: &str = include_str!("../../README.md");

#[test]
fn the_readme_embeds_the_axum_example_verbatim() {
    let example = include_str!("../../examples/axum-minimal/src/main.rs");
    assert!(
        README.contains(example),
        "README.md's axum example differs from examples/axum-minimal/src/main.rs"
    );
}

#[test]
fn the_readme_embeds_the_actix_example_verbatim() {
    let example = include_str!("../../examples/actix-minimal/src/main.rs");
    assert!(
        README.contains(example),
        "README.md's actix example differs from examples/actix-minimal/src/main.rs"
    );
}
