// Package simkit is what every cloud simulator is made of, with one
// vocabulary: injected faults, call counters, rate limits, the cloud's
// error bodies and the pace of the simulated life cycle. A simulator
// keeps its own routes, wire format and resources; simkit does the rest
// the same way for all of them.
//
// A simulator makes a Kit with the writer of its cloud's error bodies,
// embeds the Kit's Controls so that its users inject faults and read
// counters with the same methods on every simulator, and passes each
// request through Serve with the operation's name:
//
//	type Server struct {
//		*simkit.Controls
//		kit *simkit.Kit
//	}
//
//	func New(opts Options) *Server {
//		kit := simkit.New(simkit.Config{Clock: opts.Clock, Errors: simkit.ErrorWriterFunc(writeError)})
//		return &Server{Controls: kit.Controls(), kit: kit}
//	}
//
//	func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
//		s.kit.Serve(w, r, simkit.Call{Op: "POST /databases", Write: true}, s.mux)
//	}
//
// and its tests say what goes wrong:
//
//	sim.Inject(simkit.Fault{Op: "POST /databases", Status: 503, Times: 2})
//	… // the client retries
//	assert.EqualValues(t, 3, sim.Calls("POST /databases"))
//	assert.Zero(t, sim.Writes(), "a second apply writes nothing")
//
// Rate limits are Limiters of a Rate on the simulator's clock; Decision
// sets the cloud's headers. Pace is how long the life cycle takes, and
// ExpectedEnv the variable that tells clients (the dbaas command's waits)
// about it, so that waiting on a simulator takes seconds, not the cloud's
// minutes.
package simkit
