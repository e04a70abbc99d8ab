"""``newswire soak``: real traffic through the real services, with chaos, counted by id.

- :mod:`newswire.soak.traffic`: what arrives on news.raw and when (pure, seeded);
- :mod:`newswire.soak.chaos`: the services as child processes, SIGKILLed and restarted,
  a second enricher replica joining and leaving;
- :mod:`newswire.soak.scenario`: a scenario = traffic + chaos plan + final checks;
- :mod:`newswire.soak.command`: the CLI.
"""
