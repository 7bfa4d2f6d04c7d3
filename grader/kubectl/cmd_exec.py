def run_exec(s):
    raise NotImplementedError
def run_run(s):
    raise NotImplementedError
