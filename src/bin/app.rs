//! The page: installs the panic hook and mounts the root component. Everything else lives in
//! `mtl_playground::ui`.

fn main() {
    console_error_panic_hook::set_once();
    leptos::mount::mount_to_body(mtl_playground::ui::App);
}
