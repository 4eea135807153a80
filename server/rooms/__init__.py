"""Classroom rooms (docs/protocol.md, "Rooms"): a lecturer's room links its students' live sessions.

:mod:`.registry` holds the open rooms of this instance, :mod:`.room` one room and its state machine,
:mod:`.codes` the codes, keys and tokens, :mod:`.tiles` the dashboard tiles cut from the frames the sessions
already send, :mod:`.student` and :mod:`.lecturer` the two kinds of socket, :mod:`.messages` their models.
"""
