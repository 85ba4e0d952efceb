; Calls the OpenMP runtime directly, so libomp must be linked.
%struct.ident_t = type { i32, i32, i32, i32, i8* }

declare i32 @__kmpc_global_thread_num(%struct.ident_t*)

define i32 @thread() {
entry:
  %t = call i32 @__kmpc_global_thread_num(%struct.ident_t* null)
  ret i32 %t
}
