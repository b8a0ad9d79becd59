"""mechlang: electrochemical mechanisms as differentiable JAX simulators."""
