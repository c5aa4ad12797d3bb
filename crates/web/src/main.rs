//! The playground's page (Trunk's main binary).

fn main() {
    #[cfg(target_arch = "wasm32")]
    yew::Renderer::<kexec_web::components::app::App>::new().render();
}
