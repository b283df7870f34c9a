"""``spo plan``: how a config's roles would be placed on a cluster, without starting an actor (pure; no Ray).

The roles ask Ray for what :mod:`spo.runner` starts, in the same order: each generator pool's actors
(scheduled one by one), the scorers (one placement group, PACK), the buffer, the learner ranks (one
placement group, PACK) and the pairwise judge. The plan places them as Ray would try to: a PACK
group on as few nodes as possible, a single actor on the first node with room. Ray's own choice of node
may differ; whether the layout fits, and what is missing when it does not, does not.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from spo.cluster.resources import required_cpus, required_gpus


@dataclass
class Group:
    """Actors that ask for the same resources; ``pack``: one PACK placement group."""

    role: str
    actors: int
    cpus: float
    gpus: float
    pack: bool
    nodes: list[int] = field(default_factory=list)  # the node index of each placed actor


@dataclass
class Node:
    cpus: float
    gpus: float


def groups(cfg) -> list[Group]:
    """The roles' actors in the order the runner starts them."""
    cl, g = cfg.cluster, cfg.generator
    out = [Group(f"generators/{cfg.model.name}", g.num_workers, cl.generator_cpus, cl.generator_gpus, False)]
    out += [Group(f"generators/{name}", p.num_workers, cl.generator_cpus, cl.generator_gpus, False)
            for name, p in g.extra_pools.items()]  # fmt: skip
    out += [Group(f"scorers/{name}", sc.num_workers, cl.scorer_cpus, cl.scorer_gpus, True)
            for name, sc in cfg.reward.scorers.items()]  # fmt: skip
    out.append(Group("buffer", 1, cl.buffer_cpus, 0.0, False))
    out.append(Group("learner", cfg.learner.num_ranks, cl.learner_cpus, cl.learner_gpus, True))
    if cfg.eval.pairwise_judge is not None:
        out.append(Group("pairwise_judge", 1, cl.scorer_cpus, 0.0, False))
    return out


def _room(node: Node, group: Group) -> int:
    """How many of ``group``'s actors fit on ``node``."""
    fits = [
        node.cpus / group.cpus if group.cpus else float("inf"),
        node.gpus / group.gpus if group.gpus else float("inf"),
    ]
    return int(min(min(fits), group.actors) + 1e-9)


def place(plan: list[Group], nodes: list[Node]) -> list[str]:
    """Fill each group's ``nodes`` (in place); returns what could not be placed, one line per group."""
    free = [Node(n.cpus, n.gpus) for n in nodes]
    missing = []
    for grp in plan:
        grp.nodes = []
        while (left := grp.actors - len(grp.nodes)) > 0:
            room = [min(_room(n, grp), left) for n in free]
            if not any(room):
                missing.append(f"{grp.role}: {left} of {grp.actors} actors ({grp.cpus:g} CPUs, {grp.gpus:g} GPUs "
                               "each) fit on no node")  # fmt: skip
                break
            if grp.pack:  # a node that holds all the rest, else the roomiest, filled
                i = next((i for i, r in enumerate(room) if r == left), max(range(len(free)), key=room.__getitem__))
            else:
                i = next(i for i, r in enumerate(room) if r)
            take = room[i] if grp.pack else 1
            free[i].cpus -= grp.cpus * take
            free[i].gpus -= grp.gpus * take
            grp.nodes += [i] * take
    return missing


def render(cfg, nodes: list[Node]) -> tuple[str, dict]:
    """The plan of ``cfg`` on ``nodes`` as a text table, and as a JSON-ready dict."""
    plan = groups(cfg)
    missing = place(plan, nodes)
    need_cpu, need_gpu = sum(required_cpus(cfg).values()), sum(required_gpus(cfg).values())
    have_cpu, have_gpu = sum(n.cpus for n in nodes), sum(n.gpus for n in nodes)
    lines = [f"cluster: {len(nodes)} node(s), {have_cpu:g} CPUs and {have_gpu:g} GPUs in all",
             f"{'role':<34}{'actors':>7}{'CPUs each':>11}{'GPUs each':>11}  nodes"]  # fmt: skip
    for grp in plan:
        where = ", ".join(f"node{i} x{grp.nodes.count(i)}" for i in sorted(set(grp.nodes))) or "-"
        lines.append(f"{grp.role:<34}{grp.actors:>7}{grp.cpus:>11g}{grp.gpus:>11g}  {where}")
    verdict = "fits" if not missing else "DOES NOT FIT: " + "; ".join(missing)
    lines.append(f"needs {need_cpu:g} CPUs and {need_gpu:g} GPUs: {verdict}")
    data = {"nodes": [vars(n) for n in nodes], "roles": [vars(g) for g in plan], "cpus": need_cpu,
            "gpus": need_gpu, "fits": not missing, "missing": missing}  # fmt: skip
    return "\n".join(lines), data
