from qcode.cli.app import main

main()
