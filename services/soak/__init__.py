"""``newswire soak``: real traffic through the real services, with chaos, counted by id.

- :mod:`newswire.soak.traffic`: what arrives on news.raw and when (pure, seeded);
- :mod:`newswire.soak.chaos`: the services as child processes, SIGKILLed and restarted,
  a second enricher replica joining and leaving;
- :mod:`newswire.soak.scenarios`: the named scenarios (traffic spec + chaos spec);
- :mod:`newswire.soak.run`: runs a scenario against the real services;
- :mod:`newswire.soak.ledger`: the run's records (what was sent, stalls, checks, result);
- :mod:`newswire.soak.readback`: reads the topics and the outputs back, counted by id;
- :mod:`newswire.soak.checks`: the figures and the checks that decide the verdict;
- :mod:`newswire.soak.report`: the final report's lines;
- :mod:`newswire.soak.command`: the CLI.
"""
