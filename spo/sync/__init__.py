"""Weight transports from the learner group to the generator pools."""
