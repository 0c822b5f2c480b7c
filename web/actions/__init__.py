"""The acts: moderation, meetings, marks and accounts, one function per act.

Each act takes who acts and the input, decides with the rules in `rooms/`, writes through
the repositories in `persistence/` in one transaction of its own, and returns what other
processes must hear of (`publish.Published`). The HTTP handlers and the console commands
call the same acts, and send that with `publish.publish` after the commit.
"""
