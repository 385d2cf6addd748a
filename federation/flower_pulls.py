"""Flower's object pulls, retried promptly.

On the deployment engine a message's content (the model's arrays) travels as objects that each
process pulls from the one before it: the SuperNode from the SuperLink, the ClientApp from the
SuperNode, the ServerApp the replies' from the SuperLink. When an object is not there yet,
Flower 1.42 waits 1 s before it asks again, then 2 s, 4 s, up to 10 s
(``flwr.supercore.constant.PULL_INITIAL_BACKOFF``; no option sets it).

It is often not there yet: the SuperNode creates the ClientApp's task before it has pulled the
message's objects from the SuperLink, so a ClientApp that starts quickly asks too early. In
``fedinsight bench deployment`` (3 December 2026) the ClientApp waited about 3 s for each
train and evaluate message's objects: 1 s, then 2 s (a profile of each ClientApp process,
docs/deployment-speed.md).

``prompt_pulls`` makes the waits in the process that calls it 0.05 s, then 0.1, 0.2, 0.4
s, then at most 0.5 s: a pull ends at most about 0.5 s after its object arrives, where Flower's
doubling waits could overshoot by as long as the object took. (With a first retry of 0.05 s
and Flower's cap of 10 s, 8 of 18 ClientApps of one bench run still waited 6.9 to 7.9 s from
process start to message.) It allows 10,000 tries instead of 500, so that a pull gives up
after about as long as Flower's would (about 83 minutes of waits; Flower's limit of 2 hours in
all stays). The price is at most two requests a second per pulling thread on the local link
while an object is late.

This module imports nothing of the project's, so that the ClientApp zygote can load it by path
(``client_node/clientapp_zygote.py``).
"""

from __future__ import annotations

FIRST_RETRY_S = 0.05
RETRY_CAP_S = 0.5
TRIES_PER_OBJECT = 10_000  # Flower's 500 tries wait up to 10 s each; these up to 0.5 s


_SETTINGS = {
    "initial_backoff": FIRST_RETRY_S,
    "backoff_cap": RETRY_CAP_S,
    "max_tries_per_object": TRIES_PER_OBJECT,
}


def prompt_pulls() -> bool:
    """Set the retry waits of Flower's object pulls in this process (module doc); False, and
    nothing changed, when the installed Flower has no such settings."""
    try:
        from flwr.supercore.inflatable import inflatable_utils
    except ImportError:
        return False
    changed = False
    for function in (
        inflatable_utils.pull_objects,
        inflatable_utils.pull_and_inflate_object_from_tree,
    ):
        defaults = getattr(function, "__kwdefaults__", None)
        if isinstance(defaults, dict) and set(_SETTINGS) <= set(defaults):
            defaults.update(_SETTINGS)
            changed = True
    return changed
