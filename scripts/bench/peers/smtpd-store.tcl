# tcllib smtpd storing a file per message, for the load benchmarks (issue 9).
#
#   tclsh smtpd-store.tcl MAILDIR
#
# Each message is written to MAILDIR/tmp/N and renamed into MAILDIR/new/N
# before the 250 (Tcl has no fsync: this is the no-fsync comparison).
# Listens on an ephemeral loopback port and prints
# "listening on 127.0.0.1:PORT". Tcl cannot catch SIGTERM: stop it by PID.
package require smtpd
set ::maildir [lindex $argv 0]
foreach sub {tmp new cur} { file mkdir [file join $::maildir $sub] }
set ::count 0
proc ::store {sender recipients data} {
    incr ::count
    set name [pid].$::count
    set tmp [file join $::maildir tmp $name]
    set f [open $tmp {WRONLY CREAT EXCL} 0600]
    fconfigure $f -translation binary
    puts -nonewline $f [join $data "\r\n"]
    puts -nonewline $f "\r\n"
    close $f
    file rename $tmp [file join $::maildir new $name]
}
smtpd::configure -deliver ::store
set sock [smtpd::start 127.0.0.1 0]
puts "listening on 127.0.0.1:[lindex [fconfigure $sock -sockname] 2]"
flush stdout
vwait forever
