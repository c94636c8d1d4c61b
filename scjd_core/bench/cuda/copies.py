"""Host<->device copies in a ``torch.profiler`` trace: grouped by what issued them, described."""

from __future__ import annotations

from typing import Any


def direction(name: str) -> str:
    for key in ("HtoD", "DtoH"):
        if key in name:
            return key
    return ""


def _short(name: str) -> str:
    i = name.find("scjd_core/")
    return name[i:] if i >= 0 else name


def attribute_copies(trace: dict[str, Any], steps: int) -> list[dict[str, Any]]:
    """Group the host<->device memcpy events of a profiler trace by what issued them.

    Args:
        trace: a ``torch.profiler`` Chrome trace (``{"traceEvents": [...]}``).
        steps: live steps the trace covers (the counts are divided by it).

    Returns:
        One dict per ``(direction, bytes, kind, scjd_core function, aten op)``, with
        ``per_step`` copies, most frequent first. ``where`` is the innermost
        ``scjd_core`` Python function on the stack (``with_stack=True`` traces), ``op``
        the innermost ``aten`` op, both ``"?"`` when the trace does not say.
    """
    events = [e for e in trace.get("traceEvents", []) if isinstance(e, dict)]
    memcpys = [e for e in events if "memcpy" in str(e.get("cat", "")).lower() and direction(str(e.get("name", "")))]
    runtime: dict[Any, dict[str, Any]] = {}
    for e in events:
        if str(e.get("cat", "")).lower() in ("cuda_runtime", "cuda_driver", "runtime", "driver"):
            corr = (e.get("args") or {}).get("correlation")
            if corr is not None:
                runtime[corr] = e
    py = [e for e in events if e.get("cat") == "python_function" and "scjd_core" in str(e.get("name", ""))]
    ops = [e for e in events if e.get("cat") == "cpu_op"]

    def innermost(spans: list[dict[str, Any]], ts: float) -> str:
        inside = [s for s in spans if float(s.get("ts", 0)) <= ts <= float(s.get("ts", 0)) + float(s.get("dur", 0))]
        return str(max(inside, key=lambda s: float(s.get("ts", 0)))["name"]) if inside else "?"

    groups: dict[tuple[str, int, str, str, str], int] = {}
    for m in memcpys:
        args = m.get("args") or {}
        name = str(m.get("name", ""))
        kind = name[name.find("(") + 1 : name.find(")")] if "(" in name and ")" in name else ""
        where = op = "?"
        rt = runtime.get(args.get("correlation"))
        if rt is not None:
            ts = float(rt.get("ts", 0))
            where, op = _short(innermost(py, ts)), innermost(ops, ts)
        key = (direction(name), int(args.get("bytes", -1)), kind, where, op)
        groups[key] = groups.get(key, 0) + 1
    out = [
        {"direction": d, "bytes": b, "memory": k, "where": w, "op": o, "per_step": n / max(1, steps)}
        for (d, b, k, w, o), n in groups.items()
    ]
    return sorted(out, key=lambda g: (-g["per_step"], g["direction"], -g["bytes"]))


def describe_copies(groups: list[dict[str, Any]], window_bytes: int) -> str:
    """One line per group: what was copied, from where, and whether live mode needs it."""
    parts = []
    for g in groups:
        if g["direction"] == "HtoD" and g["bytes"] == window_bytes:
            role = "the input window"
        elif g["direction"] == "DtoH" and g["bytes"] == window_bytes:
            role = "the window's poses out"
        else:
            role = "EXTRA"
        mem = f", {g['memory']}" if g["memory"] else ""
        parts.append(
            f"{g['per_step']:g}/step {g['direction']} {g['bytes']:,} B{mem} from {g['where']} ({g['op']}): {role}"
        )
    return "; ".join(parts)
