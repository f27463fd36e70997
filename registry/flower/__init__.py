"""FLEP rounds on Flower's Deployment Engine: a SuperLink, one SuperNode per analyst, every Flower round a
registry round.

Public surface:
    apps (the FAB's modules, top-level flep_flower/ in the checkout):
              :mod:`flep_flower.serverapp` (``app``: the admin's round driver + the untrusted aggregator),
              :mod:`flep_flower.clientapp` (``app``: a SuperNode forwarding to its analyst)
    analyst:  :mod:`registry.flower.analyst_worker` (``flep flower analyst``: the analyst beside a SuperNode,
              holding its keystore; reached over :mod:`registry.flower.worker_link`)
    protocol: :class:`~registry.flower.messages.TrainInstruction`, :class:`~registry.flower.messages.TrainReply`
              (ids only: nothing Flower carries needs trusting)
    launch:   :func:`~registry.flower.launch.run_flower` (``flep flower run``: SuperLink, SuperNodes, key holder
              agent and ``flwr run`` as processes on loopback)

Nothing is imported here: the apps are loaded by Flower's own processes, which need only their module.
"""
