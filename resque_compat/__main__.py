from resque_compat.cli import main

main(prog_name="resque-compat")
