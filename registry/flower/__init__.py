"""FLEP rounds on Flower's Deployment Engine: a SuperLink, one SuperNode per analyst, every Flower round a
registry round.

Public surface:
    apps (the FAB's modules, top-level flep_flower/ in the checkout):
              :mod:`flep_flower.serverapp` (``app``: the admin's round driver + the untrusted aggregator),
              :mod:`flep_flower.clientapp` (``app``: :mod:`registry.flower.client_app`, a SuperNode forwarding
              to its analyst)
    executor: :mod:`registry.flower.executor` (``flep flower executor``: runs that ClientApp for every message
              of a SuperNode in process isolation, in one long-lived process)
    analyst:  :mod:`registry.flower.analyst_worker` (``flep flower analyst``: the analyst beside a SuperNode,
              holding its keystore; reached over :mod:`registry.flower.worker_link`)
    protocol: :class:`~registry.flower.messages.RollCall`, :class:`~registry.flower.messages.Ready`,
              :class:`~registry.flower.messages.TrainInstruction`, :class:`~registry.flower.messages.TrainReply`
              (ids only: nothing Flower carries needs trusting)
    launch:   :func:`~registry.flower.launch.run_flower` (``flep flower run``: SuperLink, SuperNodes, key holder
              agent and ``flwr run`` as processes on loopback)

Nothing is imported here: the apps are loaded by Flower's own processes, which need only their module.
"""
