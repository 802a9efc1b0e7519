"""The Gradio playground: layout, per-session state, the observe-reason-act loop, robot backends, plots."""
