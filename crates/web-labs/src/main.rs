//! The labs' wasm module (Trunk's worker-type binary, loaded by the main
//! module on demand): mounts the lab views under `#lab-root`.

fn main() {
    #[cfg(target_arch = "wasm32")]
    if let Some(root) = web_sys::window()
        .and_then(|w| w.document())
        .and_then(|d| d.get_element_by_id("lab-root"))
    {
        yew::Renderer::<kexec_web_labs::components::labs::LabsApp>::with_root(root).render();
    }
}
