"""Small graph builders shared by core tests."""

from chainstudio.core.graph.model import Graph, GraphInput


def chain(*names: str, prompt_uses_previous: bool = True) -> Graph:
    """input topic -> names[0] -> names[1] -> ... -> out."""
    g = Graph("chain", inputs=[GraphInput("topic", "t")])
    g.add("input", "topic", input="topic")
    prev = "topic"
    for name in names:
        prompt = f"{name} about {{{{ {prev} }}}}" if prompt_uses_previous else f"{name} about {{{{ inputs.topic }}}}"
        g.add("llm", name, prompt=prompt)
        g.connect(prev, name)
        prev = name
    g.add("output", "out")
    g.connect(prev, "out")
    return g


def fan_out(n: int) -> Graph:
    g = Graph("fan", inputs=[GraphInput("topic", "t")])
    g.add("input", "topic", input="topic")
    for i in range(n):
        g.add("llm", f"b{i}", prompt=f"branch {i} on {{{{ topic }}}}")
        g.connect("topic", f"b{i}")
    g.add("join", "merged", template="".join(f"{{{{ b{i} }}}}\n" for i in range(n)))
    for i in range(n):
        g.connect(f"b{i}", "merged")
    g.add("output", "out")
    g.connect("merged", "out")
    return g
