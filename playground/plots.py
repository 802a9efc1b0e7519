"""Plotly figures for the "Look inside" panel: the action chunk and the MoE routing of the reasoning tokens."""

from __future__ import annotations

import numpy as np

JOINTS = ("shoulder_pan", "shoulder_lift", "elbow_flex", "wrist_flex", "wrist_roll", "gripper")


def action_figure(predicted: np.ndarray | None, executed: np.ndarray | None, horizon: int = 16):
    """6 small plots, one per joint: the last predicted chunk (H, 6) and the joints measured while it ran (N, 6)."""
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    fig = make_subplots(rows=2, cols=3, subplot_titles=JOINTS, shared_xaxes=True)
    for j in range(6):
        row, col = j // 3 + 1, j % 3 + 1
        if predicted is not None and len(predicted):
            fig.add_trace(
                go.Scatter(
                    y=predicted[:, j],
                    mode="lines+markers",
                    name="predicted",
                    line=dict(color="#1f77b4", dash="dash"),
                    marker=dict(size=4),
                    showlegend=j == 0,
                    legendgroup="predicted",
                ),
                row=row,
                col=col,
            )
        if executed is not None and len(executed):
            fig.add_trace(
                go.Scatter(
                    y=executed[:, j],
                    mode="lines",
                    name="executed (measured)",
                    line=dict(color="#d62728"),
                    showlegend=j == 0,
                    legendgroup="executed",
                ),
                row=row,
                col=col,
            )
    fig.update_xaxes(title_text="step of the chunk", row=2)
    fig.update_yaxes(title_text="rad", col=1)
    fig.update_layout(
        height=360,
        margin=dict(l=40, r=10, t=40, b=40),
        legend=dict(orientation="h", y=-0.2),
        title=f"action chunk: {horizon} steps x 6 joints",
    )
    return fig


def routing_matrix(routing: dict, token_mask: np.ndarray, num_experts: int) -> tuple[np.ndarray, list[str]]:
    """(layers * experts, T') routing weights of the masked tokens, 0 where an expert was not picked; row labels.

    `routing`: layer -> {"experts": (T, k) int, "weights": (T, k)}; `token_mask`: (T,) bool, the tokens to show.
    """
    rows, labels = [], []
    for layer in sorted(routing):
        experts = np.asarray(routing[layer]["experts"])[token_mask]  # (T', k)
        weights = np.asarray(routing[layer]["weights"], dtype=np.float32)[token_mask]  # (T', k)
        grid = np.zeros((num_experts, len(experts)), dtype=np.float32)
        for slot in range(experts.shape[1] if experts.ndim == 2 else 0):
            grid[experts[:, slot], np.arange(len(experts))] += weights[:, slot]
        rows.append(grid)
        labels += [f"L{layer} e{e}" for e in range(num_experts)]
    if not rows:
        return np.zeros((0, int(token_mask.sum())), dtype=np.float32), []
    return np.concatenate(rows, axis=0), labels


def routing_figure(reasoning, num_experts: int):
    """Heat map of which MoE experts each reasoning token used (weight of each picked expert, per layer)."""
    import plotly.graph_objects as go

    if reasoning is None:
        return go.Figure(layout=dict(title="MoE routing: run the model first", height=320))
    mask = reasoning.encoding.reasoning_mask[0].cpu().numpy().astype(bool)  # (T,)
    if not mask.any():  # empty reasoning: show the prompt's last tokens instead of nothing
        mask = np.zeros_like(mask)
        mask[-32:] = True
    z, labels = routing_matrix(reasoning.routing, mask, num_experts)
    tokens = [t for t, m in zip(reasoning.tokens, mask) if m]
    fig = go.Figure(
        go.Heatmap(
            z=z,
            y=labels,
            x=[f"{i}:{t}" for i, t in enumerate(tokens)],
            colorscale="Viridis",
            colorbar=dict(title="weight"),
        )
    )
    fig.update_layout(
        title="MoE routing of the reasoning tokens (rows: layer, expert)",
        height=360,
        margin=dict(l=60, r=10, t=40, b=60),
        xaxis=dict(tickangle=-60),
    )
    return fig


def probe_figure(scores: dict):
    """Bar chart of probe accuracy per suite (0..1)."""
    import plotly.graph_objects as go

    suites = list(scores)
    fig = go.Figure(
        go.Bar(
            x=suites,
            y=[scores[s]["accuracy"] for s in suites],
            text=[f"{scores[s]['correct']}/{scores[s]['total']}" for s in suites],
            textposition="outside",
        )
    )
    fig.update_layout(
        title="probe accuracy (exact answers)",
        yaxis=dict(range=[0, 1.05], title="accuracy"),
        height=320,
        margin=dict(l=40, r=10, t=40, b=40),
    )
    return fig
